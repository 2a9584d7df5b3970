import { type StatementCheck, CuePolicyEvaluator, assertPolicyAllows, summariseCycloneDx } from '@provwatch/verification';

const CYCLONEDX_PREDICATE = 'https://cyclonedx.org/bom';

let evaluator: CuePolicyEvaluator | undefined;

/** One warm CUE evaluator per process: starting the WebAssembly evaluator costs hundreds of ms. */
function cueEvaluator(): CuePolicyEvaluator {
  evaluator ??= new CuePolicyEvaluator();
  return evaluator;
}

/**
 * Checks after a verified attestation: a CycloneDX predicate must be a usable SBOM, and a
 * CUE policy (cosign's --policy) must accept the statement.
 */
export function statementChecks(options: { predicateType: string; policySource?: string }): StatementCheck {
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
