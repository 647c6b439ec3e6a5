-- wrk script for ci/bench: at the end, write the run's whole latency histogram (one line per
-- distinct value: microseconds, and how many requests took that long) to the file named by
-- WRK_HISTOGRAM, so that a case measured in slices can be pooled into one distribution.
-- wrk's stats object yields its i-th distinct value by scanning up from the minimum: the dump
-- costs (distinct values) x (max - min) steps, a fraction of a second for a loopback run.
-- Bounded by MAX_VALUES distinct values (wrk records at most its timeout, 2 s by default, in
-- microseconds: never more than that many).
local MAX_VALUES = 2000000

function done(summary, latency, requests)
  local path = os.getenv("WRK_HISTOGRAM")
  if not path then
    return
  end
  local out = assert(io.open(path, "w"))
  for i = 1, MAX_VALUES do
    local value, count = latency(i)
    if value == 0 then
      break
    end
    out:write(string.format("%d %d\n", value, count))
  end
  out:close()
end
