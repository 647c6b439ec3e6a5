-- wrk script for ci/bench: every request asks for one of 1,000 distinct 4 KiB files
-- (/r/0000.txt ... /r/0999.txt), picked at random. Each wrk thread seeds its generator with a
-- fixed number plus its index, so every server sees the same sequence of paths.
local count = 1000
local threads = 0
local paths = {}

function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  math.randomseed(20261207 + (index or 0))
  for i = 0, count - 1 do
    paths[i + 1] = string.format("/r/%04d.txt", i)
  end
end

function request()
  return wrk.format("GET", paths[math.random(count)])
end
