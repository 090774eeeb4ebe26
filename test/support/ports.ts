/** A TCP port free on 127.0.0.1 right now (the kernel picks it): the same helper the embedded server uses. */
export { freePort } from '../../lib/embedded-postgres/embedded-postgres.ports';
