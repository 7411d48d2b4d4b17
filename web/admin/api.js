// The admin JSON API, as the console calls it: a Bearer access token from
// memory, one retry after a refresh on 401, and errors as `ApiError`.
import { accessToken, refresh } from './auth.js';

/** An error answer of the API (`status`, `code` = the JSON `error`). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function send(method, path, body, token) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Calls the API; resolves to the JSON answer (null for an empty one). */
export async function api(method, path, body) {
  let res = await send(method, path, body, await accessToken());
  if (res.status === 401) res = await send(method, path, body, await refresh());
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) {
    throw new ApiError(res.status, json?.error ?? 'error', json?.message ?? json?.error_description ?? `${method} ${path}: ${res.status}`);
  }
  return json;
}

export const get = (path) => api('GET', path);

/** `path` with the non-empty entries of `params` as its query. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const enc = encodeURIComponent;
