import type { PayloadCodec } from '../payloads/payload.codec';
import type { OperationOutputRow, WorkflowStatusRow } from './system.rows';

/**
 * The payload columns of status and checkpoint rows through the payload codec: the repositories
 * read and write rows through these, so what they return holds the value codec's text and what
 * they store holds the stored form (serialized by the configured serializer, encrypted).
 */

/** Status rows with their inputs, output and error decoded. */
export async function readStatusRows(codec: PayloadCodec, rows: WorkflowStatusRow[]): Promise<WorkflowStatusRow[]> {
  if (rows.every((r) => codec.readsAsIs(r.inputs) && codec.readsAsIs(r.output) && codec.readsAsIs(r.error))) return rows;
  return Promise.all(
    rows.map(async (r) => {
      const [inputs, output, error] = await Promise.all([codec.decode(r.inputs), codec.decode(r.output), codec.decode(r.error, 'error')]);
      return { ...r, inputs, output, error };
    }),
  );
}

/** One status row (or null) with its payloads decoded. */
export async function readStatusRow(codec: PayloadCodec, row: WorkflowStatusRow | null): Promise<WorkflowStatusRow | null> {
  return row && (await readStatusRows(codec, [row]))[0];
}

/** Checkpoint rows with their output and error decoded. */
export async function readStepRows(codec: PayloadCodec, rows: OperationOutputRow[]): Promise<OperationOutputRow[]> {
  if (rows.every((r) => codec.readsAsIs(r.output) && codec.readsAsIs(r.error))) return rows;
  return Promise.all(
    rows.map(async (r) => {
      const [output, error] = await Promise.all([codec.decode(r.output), codec.decode(r.error, 'error')]);
      return { ...r, output, error };
    }),
  );
}

/** A checkpoint row as stored: its output and error encoded. */
export async function storedStepRow(codec: PayloadCodec, row: OperationOutputRow): Promise<OperationOutputRow> {
  if (codec.isPlain) return row;
  const [output, error] = await Promise.all([codec.encode(row.output), codec.encode(row.error, 'error')]);
  return { ...row, output, error };
}
