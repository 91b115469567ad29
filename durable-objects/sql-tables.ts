/**
 * Tables a room keeps beside its history (retained values, MQTT sessions):
 * each store brings its own schema, all CREATE ... IF NOT EXISTS, so
 * `migrate` is safe on every wake and the room's history schema never has
 * to know about them.
 */
export abstract class SqlTables {
  constructor(
    protected readonly sql: SqlStorage,
    private readonly schema: string,
  ) {}

  migrate(): void {
    this.sql.exec(this.schema);
  }
}

/** One store per storage, migrated on its first use in each wake (a room that never needs the tables never gets them). */
export function storeOf<T extends SqlTables>(cache: WeakMap<SqlStorage, T>, sql: SqlStorage, make: (sql: SqlStorage) => T): T {
  let store = cache.get(sql);
  if (store === undefined) {
    store = make(sql);
    store.migrate();
    cache.set(sql, store);
  }
  return store;
}
