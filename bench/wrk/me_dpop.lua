-- GET /v1/me with DPoP-bound access tokens (RFC 9449): every request carries
-- its own single-use proof (made ahead by bench/dpop_proofs.py; lines
-- "token proof" of BENCH_TOKENS, this thread's share). The server checks the
-- proof's signature, htm/htu/iat/ath and cnf.jkt, records its jti in the
-- replay cache, then does what `me` does. A proof used twice is refused, so
-- the pool must outlast the run: running out counts as errors.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local reqs, i = {}, 0

function init(args)
  c.init_counters()
  for _, line in ipairs(c.my_lines(os.getenv("BENCH_TOKENS"))) do
    local tok, proof = line:match("^(%S+) (%S+)$")
    table.insert(reqs, wrk.format("GET", "/v1/me", { ["Authorization"] = "DPoP " .. tok, ["DPoP"] = proof }))
  end
  assert(#reqs > 0, "no proofs for this thread")
end

function request()
  i = i + 1
  if i > #reqs then
    c.fail("proofs_exhausted")
    i = 1
  end
  return reqs[i]
end

function response(status, headers, body) c.ok(status) end
