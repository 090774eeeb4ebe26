import { Client } from 'pg';

/** Calls `onStatement` with the text and values of every statement any pg Client sends while `work` runs. */
export async function watchStatements<T>(onStatement: (text: string, values: unknown[] | undefined) => void, work: () => Promise<T>): Promise<T> {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: Client, query: unknown, ...rest: unknown[]) {
    const config = query as { text?: string; values?: unknown[] };
    const text = typeof query === 'string' ? query : (config?.text ?? '');
    onStatement(text, typeof query === 'string' ? (rest[0] as unknown[] | undefined) : config?.values);
    return original.call(this, query, ...rest);
  };
  try {
    return await work();
  } finally {
    proto.query = original;
  }
}

/** The statements naming `schema` sent while `work` runs, whitespace folded. */
export async function statementsDuring(schema: string, work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  await watchStatements((text) => {
    if (text.includes(`"${schema}"`)) sent.push(text.replace(/\s+/g, ' ').trim());
  }, work);
  return sent;
}
