-- POST /v1/auth/login, round robin over this thread's share of the accounts
-- in BENCH_TOKENS (one email per line), all with password BENCH_PASSWORD.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local reqs, i = {}, 0

function init(args)
  c.init_counters()
  local pw = os.getenv("BENCH_PASSWORD")
  for _, email in ipairs(c.my_lines(os.getenv("BENCH_TOKENS"))) do
    local body = string.format('{"email":"%s","password":"%s"}', email, pw)
    table.insert(reqs, wrk.format("POST", "/v1/auth/login",
      { ["Content-Type"] = "application/json" }, body))
  end
  assert(#reqs > 0, "no accounts for this thread")
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function response(status, headers, body) c.ok(status) end
