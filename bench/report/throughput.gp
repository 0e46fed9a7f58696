# Durable operations per second against operations in flight (Host::submit), beside the plain
# Proton sender of the same run. Input: DATA, columns in flight, stepline ops/s, sender msg/s.
set terminal pngcairo size 800,480 font "sans,10"
set output OUT
set title "Durable endpoint path: throughput against operations in flight"
set xlabel "operations in flight (Host::submit; each answered once its job is durable)"
set ylabel "operations or messages per second"
set logscale x 2
set key top left
set grid
set yrange [0:*]
plot DATA using 1:2 with linespoints lw 2 pt 7 title "stepline operation -> job Succeeded", \
     DATA using 1:3 with linespoints lw 2 pt 5 dt 2 title "plain Proton C++ sender (baseline)"
