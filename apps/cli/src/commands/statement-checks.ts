import { type Evidence, type Statement, CuePolicyEvaluator, assertPolicyAllows, summariseCycloneDx } from '@provwatch/verification';
import { onCliExit } from './exit-hooks';

const CYCLONEDX_PREDICATE = 'https://cyclonedx.org/bom';

let evaluator: CuePolicyEvaluator | undefined;

/** One warm CUE evaluator per process: starting the WebAssembly evaluator costs hundreds of ms. */
function cueEvaluator(): CuePolicyEvaluator {
  if (!evaluator) {
    evaluator = new CuePolicyEvaluator();
    onCliExit(closePolicyEvaluator);
  }
  return evaluator;
}

/**
 * Checks after a verified attestation: a CycloneDX predicate must be a usable SBOM, and a
 * CUE policy (cosign's --policy) must accept the statement.
 */
export function statementChecks(options: { predicateType: string; policySource?: string }): (statement: Statement) => Promise<Evidence> {
  return async (statement) => {
    const details: Record<string, unknown> = {};
    if (options.predicateType === CYCLONEDX_PREDICATE) details.sbom = summariseCycloneDx(statement.predicate);
    if (options.policySource !== undefined) {
      assertPolicyAllows(await cueEvaluator().evaluate(options.policySource, statement), 'policy');
      details.policy = 'allowed';
    }
    return { details };
  };
}

/** Stops the evaluator's worker thread so the CLI process can exit. */
export async function closePolicyEvaluator(): Promise<void> {
  const current = evaluator;
  evaluator = undefined;
  await current?.close();
}
