module ycbg.local/ycbg

go 1.19
