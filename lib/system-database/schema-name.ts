const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema name, validated as a plain identifier and quoted: it is the only name spliced into SQL. */
export function quoteSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new Error(
      `Invalid system schema name "${schema}": use 1 to 63 letters, digits and underscores, not starting with a digit.`,
    );
  }
  return `"${schema}"`;
}
