-- POST /oauth2/token grant_type=authorization_code: every request redeems its
-- own authorization code (made ahead by bench/oidc_codes.py; lines "code
-- verifier" of BENCH_TOKENS, this thread's share) with its PKCE verifier, the
-- client authenticating with client_secret_basic (BENCH_AUTH). The answer
-- carries an access token, an ID token and a refresh token. Codes are
-- single-use and live 60 s, so the pool must outlast the run: running out
-- counts as errors. BENCH_REDIRECT_URI: the redirect URI, form-encoded.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local reqs, i = {}, 0

function init(args)
  c.init_counters()
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = os.getenv("BENCH_AUTH"),
  }
  local redirect = os.getenv("BENCH_REDIRECT_URI")
  for _, line in ipairs(c.my_lines(os.getenv("BENCH_TOKENS"))) do
    local code, verifier = line:match("^(%S+) (%S+)$")
    table.insert(reqs, wrk.format("POST", "/oauth2/token", headers,
      "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect ..
      "&code_verifier=" .. verifier))
  end
  assert(#reqs > 0, "no authorization codes for this thread")
end

function request()
  i = i + 1
  if i > #reqs then
    c.fail("codes_exhausted")
    i = 1
  end
  return reqs[i]
end

function response(status, headers, body) c.ok(status) end
