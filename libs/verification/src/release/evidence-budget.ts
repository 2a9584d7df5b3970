import { type EvidenceRead, type ReleaseCheckInput, evidenceReadByChecks } from './release-checks';

export interface EvidenceAssetSize {
  name: string;
  /** Size as GitHub lists it (what a download may hold at most). */
  size: number;
}

export interface EvidenceHoldingPlan {
  /** Assets to download and keep in memory, each with the bytes reserved for it. */
  hold: Map<string, number>;
  /** Read by a check, but larger than the per-file limit: unreadable, as any asset over a limit. */
  overFileLimit: Array<EvidenceRead & { size: number }>;
  /** Read by a check, but no room was left in the release's budget: that check cannot decide. */
  overBudget: Array<EvidenceRead & { size: number }>;
}

/**
 * Which evidence files of a release to keep in memory. Threat: a release (or a hostile fork of a
 * watched project) publishing many large evidence-like files to exhaust the worker's memory.
 * Only the files the checks read are kept, most important first (evidenceReadByChecks), until
 * `budgetBytes` is spent; everything else is hashed while streaming and dropped. A file left out
 * is reported, so the check that needed it can be `error`: never silently judged without it.
 */
export function planEvidenceHolding(
  assets: readonly EvidenceAssetSize[],
  declared: Pick<ReleaseCheckInput, 'provenanceAsset' | 'checksumsAsset' | 'sbomAssets'>,
  limits: { budgetBytes: number; maxFileBytes: number },
): EvidenceHoldingPlan {
  const sizes = new Map(assets.map((a) => [a.name, a.size]));
  const plan: EvidenceHoldingPlan = { hold: new Map(), overFileLimit: [], overBudget: [] };
  let left = limits.budgetBytes;
  for (const read of evidenceReadByChecks([...sizes.keys()], declared)) {
    const size = sizes.get(read.name)!;
    if (size > limits.maxFileBytes) plan.overFileLimit.push({ ...read, size });
    else if (size > left) plan.overBudget.push({ ...read, size });
    else {
      plan.hold.set(read.name, size);
      left -= size;
    }
  }
  return plan;
}
