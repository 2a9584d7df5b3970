import { KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto';

import { canonicalize } from './canonical-json';
import { inclusionProof, leafHash, rootHash } from './merkle-tree';

/** An ECDSA P-256 key pair as the trust root publishes it: SPKI DER, log id = sha256(SPKI). */
export interface KitKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: Buffer;
  keyId: Buffer;
}

export function generateKitKey(): KitKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey, spki, keyId: createHash('sha256').update(spki).digest() };
}

export interface InclusionProofData {
  /** index inside this log's tree (a shard), not the global log index */
  treeIndex: number;
  treeSize: number;
  rootHash: Buffer;
  /** sibling hashes from the leaf up */
  hashes: Buffer[];
  /** signed note: origin, size, base64 root, blank line, signature line */
  checkpoint: string;
}

export interface LoggedEntry {
  kind: string;
  apiVersion: string;
  /** the canonicalized (RFC 8785) entry body, exactly the leaf data */
  body: Buffer;
  /** global index across shards: what the SET signs and the API reports */
  logIndex: number;
  integratedTime: number;
  logId: Buffer;
  signedEntryTimestamp: Buffer;
  inclusionProof: InclusionProofData;
  /** hex leaf hash, Rekor's entry UUID */
  uuid: string;
  /** tree id (16 hex) + uuid, the form the search API returns */
  entryId: string;
}

/** Rekor v1 REST shape of one entry: GET /api/v1/log/entries/{uuid}. Hashes are hex here, not base64 as in bundles. */
export interface RekorApiEntry {
  [entryId: string]: {
    body: string;
    integratedTime: number;
    logID: string;
    logIndex: number;
    verification: {
      signedEntryTimestamp: string;
      inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
    };
  };
}

export interface TransparencyLogOptions {
  hostname?: string;
  treeId?: bigint;
  /** Real Rekor is sharded: the global logIndex differs from the proof's index. Keep them apart so consumers cannot mix them up unnoticed. */
  indexOffset?: number;
}

/**
 * An in-memory Rekor v1 log: appends canonical bodies, signs SETs and checkpoints.
 * A few filler leaves sit around every entry so proofs have siblings on both sides.
 */
export class TransparencyLog {
  readonly hostname: string;
  readonly treeId: bigint;
  readonly indexOffset: number;
  private readonly leaves: Buffer[] = [];
  private fillers = 0;

  constructor(
    readonly key: KitKey,
    opts: TransparencyLogOptions = {},
  ) {
    this.hostname = opts.hostname ?? 'rekor.kit.test';
    this.treeId = opts.treeId ?? 1193050959916656506n;
    this.indexOffset = opts.indexOffset ?? 100_000;
    this.addFillers(5);
  }

  get baseUrl(): string {
    return `https://${this.hostname}`;
  }

  /** Checkpoint origin as Rekor v1 writes it; the signature line carries only the hostname. */
  get origin(): string {
    return `${this.hostname} - ${this.treeId}`;
  }

  append(kind: string, apiVersion: string, body: Buffer, integratedTime: number): LoggedEntry {
    const treeIndex = this.leaves.length;
    this.leaves.push(leafHash(body));
    this.addFillers(2);
    const logIndex = treeIndex + this.indexOffset;
    const set = sign(
      'sha256',
      Buffer.from(
        canonicalize({
          body: body.toString('base64'),
          integratedTime,
          logID: this.key.keyId.toString('hex'),
          logIndex,
        }),
      ),
      this.key.privateKey,
    );
    const treeSize = this.leaves.length;
    const root = rootHash(this.leaves);
    const uuid = this.leaves[treeIndex].toString('hex');
    return {
      kind,
      apiVersion,
      body,
      logIndex,
      integratedTime,
      logId: this.key.keyId,
      signedEntryTimestamp: set,
      inclusionProof: {
        treeIndex,
        treeSize,
        rootHash: root,
        hashes: inclusionProof(treeIndex, this.leaves.slice(0, treeSize)),
        checkpoint: this.checkpoint(treeSize, root),
      },
      uuid,
      entryId: this.treeId.toString(16).padStart(16, '0') + uuid,
    };
  }

  /** A signed note over the tree head; the 4-byte key hint is the log id prefix, as sigstore clients match it. */
  checkpoint(treeSize: number, root: Buffer): string {
    const note = `${this.origin}\n${treeSize}\n${root.toString('base64')}\n`;
    const sig = sign('sha256', Buffer.from(note, 'utf8'), this.key.privateKey);
    const blob = Buffer.concat([this.key.keyId.subarray(0, 4), sig]).toString('base64');
    return `${note}\n\u2014 ${this.hostname} ${blob}\n`;
  }

  apiEntry(entry: LoggedEntry): RekorApiEntry {
    const p = entry.inclusionProof;
    return {
      [entry.entryId]: {
        body: entry.body.toString('base64'),
        integratedTime: entry.integratedTime,
        logID: entry.logId.toString('hex'),
        logIndex: entry.logIndex,
        verification: {
          signedEntryTimestamp: entry.signedEntryTimestamp.toString('base64'),
          inclusionProof: {
            logIndex: p.treeIndex,
            rootHash: p.rootHash.toString('hex'),
            treeSize: p.treeSize,
            hashes: p.hashes.map((h) => h.toString('hex')),
            checkpoint: p.checkpoint,
          },
        },
      },
    };
  }

  private addFillers(n: number): void {
    for (let i = 0; i < n; i++) {
      this.leaves.push(leafHash(Buffer.from(canonicalize({ kitFiller: this.fillers++ }))));
    }
  }
}
