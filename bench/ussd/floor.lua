-- (b) the I/O floor: Redis GET, pipelined SET EX, one member SELECT.
package.path = package.path .. ";bench/ussd/?.lua"
require "common"

local n = 0

function request()
   n = n + 1
   local member = member_of(tid, n)
   local body = string.format("sessionId=f-%d-%d&memberId=%d", tid, n % 50, member)
   return wrk.format("POST", "/bench/floor", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
