export { CuePolicyEvaluator, assertPolicyAllows, type CuePolicyEvaluatorOptions, type PolicyResult } from './cue-policy.evaluator';
