; Benchmark workload W1: the smallest socket filter. Keeps every packet whole.
        r0 = -1
        exit
