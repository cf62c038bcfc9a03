-- (a) bare Flask.
package.path = package.path .. ";bench/ussd/?.lua"
require "common"

function request()
   return wrk.format("POST", "/bench/hi", {["Content-Type"] = "application/x-www-form-urlencoded"}, "x=1")
end
