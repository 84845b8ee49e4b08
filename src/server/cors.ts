import type { YogaServerOptions } from 'graphql-yoga';
import type { AppConfig } from '../config.ts';

type CorsOptions = Exclude<NonNullable<YogaServerOptions<object, object>['cors']>, boolean | ((...args: never[]) => unknown)>;

/**
 * Which pages of other origins may call the API from a browser. The API
 * takes its token in a header, never from a cookie, so no answer allows
 * credentials; yoga's default would echo any origin with credentials allowed.
 * CORS_ORIGINS lists the origins; without it, any origin outside production
 * (a web app on another dev server port), none in production.
 */
export function corsPolicy(config: AppConfig): (request: Request) => CorsOptions | false {
  const base = {
    credentials: false,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: config.corsMaxAgeSeconds,
  };
  const allowed = config.corsOrigins === null ? null : new Set(config.corsOrigins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null) return false;
    if (allowed === null) return config.env === 'production' ? false : { ...base, origin };
    return allowed.has(origin) ? { ...base, origin } : false;
  };
}
