/**
 * Just enough of the Prisma schema language to say what the database must look like: models,
 * their columns (name, type, nullability), primary keys, unique constraints, indexes and foreign
 * keys. Used by the test that proves the hand-written migrations match schema.prisma.
 */
export interface ExpectedColumn {
  column: string;
  prismaType: string;
  nativeType?: string;
  nullable: boolean;
  isEnum: boolean;
}

export interface ExpectedTable {
  model: string;
  table: string;
  columns: ExpectedColumn[];
  primaryKey: string[];
  uniques: string[][];
  indexes: string[][];
  foreignKeys: Array<{ columns: string[]; referencedTable: string; referencedColumns: string[]; onDelete: string }>;
}

export function parsePrismaSchema(source: string): { tables: ExpectedTable[]; enums: Record<string, string[]> } {
  const text = source.replace(/\/\/.*$/gm, '');
  const enums: Record<string, string[]> = {};
  // One value per line, optionally `name @map("label")`: the database holds the label.
  for (const m of text.matchAll(/enum\s+(\w+)\s*\{([^}]*)\}/g)) {
    enums[m[1]] = m[2]
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => /@map\("([^"]+)"\)/.exec(line)?.[1] ?? line.split(/\s+/)[0]);
  }
  const models = [...text.matchAll(/model\s+(\w+)\s*\{([^}]*)\}/g)].map((m) => ({ name: m[1], body: m[2] }));
  const tableOf = new Map<string, string>();
  for (const { name, body } of models) tableOf.set(name, /@@map\("([^"]+)"\)/.exec(body)?.[1] ?? name);

  const tables = models.map(({ name, body }): ExpectedTable => {
    const columnOf = new Map<string, string>();
    const columns: ExpectedColumn[] = [];
    const pending: Array<{ fields: string[]; model: string; references: string[]; onDelete: string }> = [];
    let primaryKey: string[] = [];
    const uniques: string[][] = [];
    for (const raw of body.split('\n')) {
      const line = raw.trim();
      const field = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (!field || line.startsWith('@@')) continue;
      const [, fieldName, type, list, optional, attrs] = field;
      const relation = /@relation\(([^)]*)\)/.exec(attrs);
      if (models.some((m) => m.name === type)) {
        if (relation && /fields:/.test(relation[1])) {
          pending.push({
            fields: /fields:\s*\[([^\]]*)\]/.exec(relation[1])![1].split(',').map((s) => s.trim()),
            references: /references:\s*\[([^\]]*)\]/.exec(relation[1])![1].split(',').map((s) => s.trim()),
            model: type,
            onDelete: /onDelete:\s*(\w+)/.exec(relation[1])?.[1] ?? 'Restrict',
          });
        }
        continue;
      }
      if (list) continue;
      const column = /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? fieldName;
      columnOf.set(fieldName, column);
      columns.push({ column, prismaType: type, nativeType: /@db\.(\w+(?:\(\d+\))?)/.exec(attrs)?.[1], nullable: !!optional, isEnum: type in enums });
      if (/@id\b/.test(attrs)) primaryKey = [column];
      if (/@unique\b/.test(attrs)) uniques.push([column]);
    }
    const cols = (list: string) => list.split(',').map((s) => s.trim().replace(/\(.*\)$/, '')).map((f) => columnOf.get(f) ?? f);
    const compound = /@@id\(\[([^\]]*)\]\)/.exec(body);
    if (compound) primaryKey = cols(compound[1]);
    for (const m of body.matchAll(/@@unique\(\[([^\]]*)\]\)/g)) uniques.push(cols(m[1]));
    const indexes = [...body.matchAll(/@@index\(\[([^\]]*)\]\)/g)].map((m) => cols(m[1]));
    return {
      model: name,
      table: tableOf.get(name)!,
      columns,
      primaryKey,
      uniques,
      indexes,
      foreignKeys: pending.map((p) => ({
        columns: p.fields.map((f) => columnOf.get(f) ?? f),
        referencedTable: tableOf.get(p.model)!,
        referencedColumns: p.references,
        onDelete: p.onDelete,
      })),
    };
  });
  // Referenced columns are field names of the other model: map them to its columns.
  for (const t of tables) {
    for (const fk of t.foreignKeys) {
      const other = tables.find((o) => o.table === fk.referencedTable)!;
      const otherModelBody = models.find((m) => m.name === other.model)!.body;
      fk.referencedColumns = fk.referencedColumns.map((f) => new RegExp(`^\\s*${f}\\s+\\w+.*@map\\("([^"]+)"\\)`, 'm').exec(otherModelBody)?.[1] ?? f);
    }
  }
  return { tables, enums };
}
