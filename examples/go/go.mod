module ycbg.local/ycbg-example

go 1.19

require ycbg.local/ycbg v0.0.0

replace ycbg.local/ycbg => ../../bindings/go
