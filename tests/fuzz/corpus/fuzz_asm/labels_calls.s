        r0 = 0
        r1 = 10
loop:
        r0 += r1
        r1 -= 1
        if r1 != 0 goto loop
        call 5
        gotol +0
        r1 = func(sub)
        callx r1
        exit
sub:
        exit
