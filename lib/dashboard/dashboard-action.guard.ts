import { ForbiddenException, Inject, Injectable, UnsupportedMediaTypeException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DASHBOARD_SETTINGS, type DashboardSettings } from './dashboard.options';

interface ActionRequest {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The extra gate of every action (cancel, resume, fork, move version), after the app's guards:
 * refused when the dashboard is read-only, when the request comes from another origin (a
 * cross-site form or script), and unless its body is JSON (which a plain cross-site form cannot send).
 */
@Injectable()
export class DashboardActionGuard implements CanActivate {
  constructor(@Inject(DASHBOARD_SETTINGS) private readonly settings: DashboardSettings) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.settings.readOnly) throw new ForbiddenException('The dashboard is read-only: actions are turned off (readOnly: true).');
    const request = context.switchToHttp().getRequest<ActionRequest>();
    const header = (name: string) => [request.headers[name]].flat()[0];
    const fetchSite = header('sec-fetch-site');
    if (fetchSite !== undefined && fetchSite !== 'same-origin') {
      throw new ForbiddenException(`Dashboard actions are accepted from the dashboard's own origin only (this request is ${fetchSite}).`);
    }
    const origin = header('origin');
    if (origin !== undefined && origin !== 'null' && hostOf(origin) !== header('host')) {
      throw new ForbiddenException(`Dashboard actions are accepted from the dashboard's own origin only, not from ${origin}.`);
    }
    if (origin === 'null') throw new ForbiddenException('Dashboard actions are not accepted from an opaque origin.');
    const contentType = header('content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      throw new UnsupportedMediaTypeException('Dashboard actions take a JSON body (Content-Type: application/json).');
    }
    return true;
  }
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
