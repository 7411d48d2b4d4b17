-- GET /v1/me with Bearer access tokens of distinct live sessions (round robin
-- over this thread's share of BENCH_TOKENS): signature, claims and the
-- session-liveness lookup on every request.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local reqs, i = {}, 0

function init(args)
  c.init_counters()
  local path = os.getenv("BENCH_PATH") or "/v1/me"
  for _, tok in ipairs(c.my_lines(os.getenv("BENCH_TOKENS"))) do
    table.insert(reqs, wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tok }))
  end
  assert(#reqs > 0, "no tokens for this thread")
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function response(status, headers, body) c.ok(status) end
