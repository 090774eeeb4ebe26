/**
 * The rows of a batched write as a FROM item: `columns` holds one array per column, all of one
 * length. A batch of one is a VALUES row of typed parameters (no array to build on either side,
 * the common case of a workflow run alone); a larger batch is an unnest of one array per column.
 * `firstParam` is the number of the first parameter these take; `values` are the parameters.
 */
export function rowSource(types: string[], columns: unknown[][], alias: string, firstParam = 1): { from: string; values: unknown[] } {
  const single = columns[0]?.length === 1;
  const params = types.map((t, i) => `$${firstParam + i}::${t}${single ? '' : '[]'}`).join(', ');
  return single ? { from: `(VALUES (${params})) AS ${alias}`, values: columns.map((c) => c[0]) } : { from: `unnest(${params}) AS ${alias}`, values: columns };
}
