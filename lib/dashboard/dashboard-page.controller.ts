import { Controller, Get, Header, Headers, NotFoundException, Param, Req, Res, StreamableFile, UseGuards, type Type } from '@nestjs/common';
import type { DashboardAssets } from './dashboard.assets';
import type { DashboardSettings } from './dashboard.options';

/** What the page handlers read of the request and write on the response (Express and Fastify alike). */
interface RequestLike {
  originalUrl?: string;
  url: string;
}
interface ResponseLike {
  status?(code: number): unknown;
  code?(code: number): unknown;
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/** Assets are named by content in the page's ETag; an hour of caching, then a cheap revalidation. */
const ASSET_CACHE = 'public, max-age=3600, must-revalidate';

/** The page and its files; the controller class is made per forRoot() with its path and guards. */
export function dashboardPageController(settings: DashboardSettings, assets: DashboardAssets): Type {
  @Controller(settings.path)
  @UseGuards(...settings.guards)
  class DashboardPageController {
    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Cache-Control', 'no-cache')
    @Header('X-Content-Type-Options', 'nosniff')
    @Header(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'",
    )
    page(@Req() request: RequestLike): string {
      return assets.page(request.originalUrl ?? request.url);
    }

    @Get('assets/:file')
    @Header('Cache-Control', ASSET_CACHE)
    @Header('X-Content-Type-Options', 'nosniff')
    asset(
      @Param('file') file: string,
      @Headers('if-none-match') ifNoneMatch: string | undefined,
      @Res({ passthrough: true }) response: ResponseLike,
    ): StreamableFile | undefined {
      const asset = assets.get(file);
      if (!asset) throw new NotFoundException(`The dashboard has no file "${file}".`);
      setHeader(response, 'ETag', asset.etag);
      if (ifNoneMatch === asset.etag) {
        setStatus(response, 304);
        return undefined;
      }
      return new StreamableFile(asset.body, { type: asset.type, length: asset.body.length });
    }
  }
  return DashboardPageController;
}

function setHeader(response: ResponseLike, name: string, value: string): void {
  if (response.setHeader) response.setHeader(name, value);
  else response.header?.(name, value);
}

function setStatus(response: ResponseLike, code: number): void {
  if (response.code) response.code(code);
  else response.status?.(code);
}
