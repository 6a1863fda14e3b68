-- GET a path picked at random, per request, from the file BENCH_PATHS (one
-- path a line): one id among thousands, a cursor somewhere in a list, a search
-- word. A file of one line serves one path (/healthz, a first page).
-- With BENCH_COUNT=1 it also counts responses by status (this costs wrk time).

dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then
    table.insert(paths, line)
  end
end
assert(#paths > 0, "BENCH_PATHS has no paths")

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

if os.getenv("BENCH_COUNT") == "1" then
  function response(status, headers, body)
    count_status(status)
  end
end
