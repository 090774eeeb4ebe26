export default async function globalTeardown(): Promise<void> {
  await globalThis.__DBOS_TEST_PG__?.stop();
}
