import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { AppMiddleware } from './context.js';

const contentTypes: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/vnd.microsoft.icon',
};

/**
 * Serves the few files under static/ from memory, read once at start. Only
 * files that exist at start are served, so no request path reaches the disk.
 * The files named in `atRoot` are served at the site's root too: browsers and
 * tools ask for `/favicon.ico` whatever the page links.
 */
export function createStaticFiles(directory: string, atRoot: string[] = []): AppMiddleware {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const fullPath = path.join(entry.parentPath, entry.name);
    const urlPath = `/static/${path.relative(directory, fullPath).split(path.sep).join('/')}`;
    files.set(urlPath, { body: readFileSync(fullPath), type: contentTypes[path.extname(entry.name)] ?? 'application/octet-stream' });
  }
  for (const name of atRoot) {
    const file = files.get(`/static/${name}`);
    if (file) files.set(`/${name}`, file);
  }
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = file.body;
  };
}
