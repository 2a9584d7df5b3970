import type { PrismaClient } from './generated/client';

export interface TagObservation {
  /** The digest the tag pointed to when first seen: the baseline a move is measured against. */
  firstDigest: string;
  /** True when the tag now names another digest than the one first seen. */
  moved: boolean;
  firstSeenAt: Date;
}

/** Images of a target and the digests their tags pointed to. */
export class ImageRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async upsertImage(targetId: number, repository: string): Promise<number> {
    const row = await this.prisma.image.upsert({ where: { targetId_repository: { targetId, repository } }, create: { targetId, repository }, update: {} });
    return row.id;
  }

  /**
   * Records that `tag` points at `digest` now. The first digest stays the baseline (a moved tag
   * is a finding, not a silent update); where it points now, if elsewhere, is `movedToDigest`.
   */
  async observeTag(imageId: number, tag: string, digest: string, at: Date): Promise<TagObservation> {
    const existing = await this.prisma.imageDigest.findUnique({ where: { imageId_tag: { imageId, tag } } });
    if (!existing) {
      await this.prisma.imageDigest.create({ data: { imageId, tag, digest, firstSeenAt: at, lastSeenAt: at } });
      return { firstDigest: digest, moved: false, firstSeenAt: at };
    }
    const moved = existing.digest !== digest;
    await this.prisma.imageDigest.update({
      where: { id: existing.id },
      data: { lastSeenAt: at, movedToDigest: moved ? digest : null },
    });
    return { firstDigest: existing.digest, moved, firstSeenAt: existing.firstSeenAt };
  }
}
