/** Base class of every error this package throws on purpose. */
export class DbosError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
