import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The page's files, shipped in the package beside this file (`assets/`) and read once: only
 * these names are ever served, so no request path reaches the file system.
 */
export class DashboardAssets {
  private readonly files = new Map<string, Asset>();
  private readonly indexTemplate: string;

  constructor(directory = join(__dirname, 'assets')) {
    for (const name of readdirSync(directory)) {
      const type = TYPES[extname(name)];
      if (!type || name === 'index.html') continue;
      const body = readFileSync(join(directory, name));
      this.files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` });
    }
    this.indexTemplate = readFileSync(join(directory, 'index.html'), 'utf8');
  }

  get(name: string): Asset | undefined {
    return this.files.get(name);
  }

  /** The page, with its base URL (where it was requested) so the relative asset and API paths resolve under it. */
  page(requestPath: string): string {
    const path = requestPath.split(/[?#]/)[0];
    const base = path.endsWith('/') ? path : `${path}/`;
    return this.indexTemplate.replace('__BASE_HREF__', escapeAttribute(base));
  }
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
