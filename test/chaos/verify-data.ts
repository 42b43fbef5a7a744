import type pg from 'pg';

export interface DataVerification {
  /** `data_checksums` as the server reports it: the cluster was initialised with --data-checksums. */
  checksums: boolean;
  /** The durability settings the sidecar pins on the command line, as the server reports them. */
  durability: Record<'fsync' | 'full_page_writes' | 'synchronous_commit', string>;
  /** amcheck's verify_heapam over the table: corrupt tuples or pages found (reading every page also checks its checksum). */
  heapProblems: number;
  /** amcheck's bt_index_check with heapallindexed over each of the table's indexes: each passed, or threw. */
  indexesChecked: number;
  /** pg_stat_database.checksum_failures of the database. */
  checksumFailures: number;
  /** The check itself failed (amcheck threw on an inconsistency, or no primary came up to check on). */
  error?: string;
}

/** The end-of-run check on the last primary, as its superuser: is the data that survived every fault intact? */
export async function verifyData(client: pg.Client, table: string): Promise<DataVerification> {
  const show = async (name: string) =>
    (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '';
  await client.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  const heap = await client.query<{ n: string }>('SELECT count(*) AS n FROM verify_heapam($1::regclass)', [
    table,
  ]);
  // Throws (failing the run) on the first inconsistency between an index and its heap.
  const indexes = await client.query(
    `SELECT bt_index_check(index => i.indexrelid, heapallindexed => true)
       FROM pg_index i WHERE i.indrelid = $1::regclass`,
    [table],
  );
  const failures = await client.query<{ n: string | null }>(
    'SELECT checksum_failures AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return {
    checksums: (await show('data_checksums')) === 'on',
    durability: {
      fsync: await show('fsync'),
      full_page_writes: await show('full_page_writes'),
      synchronous_commit: await show('synchronous_commit'),
    },
    heapProblems: Number(heap.rows[0]?.n ?? 0),
    indexesChecked: indexes.rowCount ?? 0,
    checksumFailures: Number(failures.rows[0]?.n ?? 0),
  };
}

/** True when every check passed. */
export function dataIntact(result: DataVerification): boolean {
  return (
    result.error === undefined &&
    result.checksums &&
    Object.values(result.durability).every((value) => value === 'on') &&
    result.heapProblems === 0 &&
    result.indexesChecked > 0 &&
    result.checksumFailures === 0
  );
}
