import type { DynamicModule, Provider, Type } from '@nestjs/common';

/**
 * What a consumer app adds around its workflows, kept apart so that every consumer gets it:
 * e.g. a health endpoint built on the library's health indicator (with @nestjs/terminus, added
 * to the consumers' package.json) or the library's exception filter. The HTTP checks that go
 * with them are listed in ../run.js (`appChecks`).
 */
export const extensionImports: (Type<unknown> | DynamicModule)[] = [];
export const extensionControllers: Type<unknown>[] = [];
export const extensionProviders: Provider[] = [];
