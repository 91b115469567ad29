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
