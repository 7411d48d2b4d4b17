-- Refresh-token rotation where every request is a real rotation.
--
-- Each thread owns a pool of refresh tokens of distinct sessions (its share of
-- BENCH_TOKENS). A request takes a token out of the pool; its response puts
-- the successor back. So a token is presented exactly once, each session has
-- at most one request in flight, and no request is a grace replay (the run
-- script checks the server's own counters for that). wrk may interleave the
-- connections of one thread, which is why this is a pool and not one token
-- per connection: any connection may carry any family, but each family stays
-- a strict chain.
--
-- BENCH_PEER=1: the OAuth 2.0 form (POST /token, form-encoded
-- grant_type=refresh_token, client_secret_basic via BENCH_AUTH) instead of
-- Tessera's JSON endpoint; BENCH_TOKEN_PATH sets the token endpoint's path
-- (default /token, oidc-provider's; glewlwyd's is /api/oidc/token).
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done

local pool, head, tail = {}, 1, 0
local peer = os.getenv("BENCH_PEER") == "1"
local auth = os.getenv("BENCH_AUTH")
local token_path = os.getenv("BENCH_TOKEN_PATH") or "/token"
if token_path == "" then token_path = "/token" end
local lost = 0

local function push(tok)
  tail = tail + 1
  pool[tail] = tok
end

local function pop()
  if head > tail then return nil end
  local tok = pool[head]
  pool[head] = nil
  head = head + 1
  return tok
end

function init(args)
  c.init_counters()
  for _, tok in ipairs(c.my_lines(os.getenv("BENCH_TOKENS"))) do push(tok) end
  assert(tail > 0, "no refresh tokens for this thread")
  lost_tokens = 0
end

function request()
  local tok = pop()
  if tok == nil then
    -- Every family of this thread was lost to errors; this request will fail
    -- and be counted.
    tok = "exhausted"
  end
  if peer then
    return wrk.format("POST", token_path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = auth,
    }, "grant_type=refresh_token&refresh_token=" .. tok)
  end
  return wrk.format("POST", "/v1/auth/refresh",
    { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. tok .. '"}')
end

function response(status, headers, body)
  if c.ok(status) then
    local nxt = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
    if nxt then
      push(nxt)
    else
      -- A 2xx without a successor is an error too.
      c.fail("no_token")
      lost_tokens = lost_tokens + 1
    end
  else
    lost_tokens = lost_tokens + 1
  end
end
