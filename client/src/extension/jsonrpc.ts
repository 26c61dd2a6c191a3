/**
 * JSON-RPC 2.0 framing for the extension: one JSON value per line. Pure functions, so the
 * codec is tested without processes. Standard codes: -32700 parse error, -32600 invalid
 * request, -32601 method not found, -32602 invalid params, -32603 internal error; client
 * errors use their registry code (CLIENT_ERRORS[code].rpc) with `data.code` = CLIENT_ERR_*.
 */
import { CLIENT_ERRORS, ClientError, isClientError } from '../errors.js';

export type RpcId = string | number | null;

export interface RpcRequest {
  id: RpcId | undefined; // undefined = notification (no answer)
  method: string;
  params: unknown;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

export const RPC = Object.freeze({
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
});

export type ParsedLine = { ok: true; request: RpcRequest } | { ok: false; id: RpcId; error: RpcErrorObject };

export function parseRequestLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, id: null, error: { code: RPC.PARSE_ERROR, message: 'parse error: not valid JSON' } };
  }
  const invalid = (id: RpcId, why: string): ParsedLine => ({
    ok: false,
    id,
    error: { code: RPC.INVALID_REQUEST, message: `invalid request: ${why}` },
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return invalid(null, Array.isArray(value) ? 'batches are not supported' : 'expected an object');
  const v = value as Record<string, unknown>;
  const rawId = v.id;
  const idOk = rawId === undefined || rawId === null || typeof rawId === 'string' || typeof rawId === 'number';
  const id: RpcId = idOk ? ((rawId ?? null) as RpcId) : null;
  if (!idOk) return invalid(null, 'id must be a string, number or null');
  if (v.jsonrpc !== '2.0') return invalid(id, 'jsonrpc must be "2.0"');
  if (typeof v.method !== 'string' || v.method.length === 0) return invalid(id, 'method must be a string');
  if (v.params !== undefined && (typeof v.params !== 'object' || v.params === null))
    return invalid(id, 'params must be an object or array');
  return { ok: true, request: { id: rawId === undefined ? undefined : id, method: v.method, params: v.params ?? {} } };
}

/** Map any thrown value to a JSON-RPC error object (never leaks stack traces). */
export function toRpcError(err: unknown): RpcErrorObject {
  if (isClientError(err)) {
    const data: Record<string, unknown> = { code: err.code, ...(err.data ?? {}) };
    return { code: CLIENT_ERRORS[err.code].rpc, message: err.message, data };
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('PROTO_ERR_'))
    return { code: RPC.INVALID_PARAMS, message: (err as Error).message, data: { code } };
  return { code: RPC.INTERNAL_ERROR, message: 'internal error' };
}

export function response(id: RpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: result ?? null });
}

export function errorResponse(id: RpcId, error: RpcErrorObject): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

export function notification(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params });
}

/** Param helpers: each names the bad parameter. */
export function obj(params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'params must be an object');
  return params as Record<string, unknown>;
}

export function str(p: Record<string, unknown>, name: string, opts: { optional?: boolean; max?: number } = {}) {
  const v = p[name];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string') throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `${name} must be a string`);
  if (opts.max !== undefined && v.length > opts.max)
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `${name} exceeds ${opts.max} characters`);
  return v;
}

export function bool(p: Record<string, unknown>, name: string, opts: { optional?: boolean } = {}) {
  const v = p[name];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'boolean') throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `${name} must be a boolean`);
  return v;
}
