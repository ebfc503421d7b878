/* SPDX-License-Identifier: MIT
 *
 * ram: the RAM power model ("ram-model"). Nothing on a common server
 * measures DRAM power for all vendors, so, like CodeCarbon 3, power
 * follows the number of DIMMs guessed from the memory size:
 *   <= 16 GiB: 2 DIMMs; <= 64 GiB: 4; <= 128 GiB: 8;
 *   above: ceil(GiB / 16) DIMMs of 16 GiB, at most 32.
 * Each DIMM draws 5 W on x86 (1.5 W on ARM); DIMMs 5-8 count 90 %, 9-16
 * 80 %, 17 and more 70 % (shared buffers and rails). So 16 GiB -> 10 W,
 * 64 -> 20 W, 128 -> 38 W, 251.5 -> 70 W, 512 and more -> 126 W.
 * Fix over CodeCarbon: above 128 GiB CodeCarbon takes the largest module
 * size <= total/8, so its guess is not monotonic (251.5 GiB -> 16 DIMMs,
 * 70 W, but 256 GiB -> 8 DIMMs, 38 W, and 1 TiB -> 38 W). Fixing the
 * module at 16 GiB keeps CodeCarbon's figures below 256 GiB and makes
 * power never fall as memory grows. Process scope scales this node power
 * by the tree's RSS share (meter.c). Owns nothing.
 */
#include "probes_int.h"

#include <math.h>

int ram_dimms(double gib)
{
    double n;
    if (!(gib > 16)) { /* also NaN and negative */
        return 2;
    }
    if (gib <= 64) {
        return 4;
    }
    if (gib <= 128) {
        return 8;
    }
    n = ceil(gib / 16);
    return n > 32 ? 32 : (int)n;
}

double ram_power_w(double gib, bool arm)
{
    double per = arm ? 1.5 : 5.0, w = 0;
    int dimms = ram_dimms(gib);
    for (int k = 1; k <= dimms; k++) {
        w += per * (k <= 4 ? 1.0 : k <= 8 ? 0.9 : k <= 16 ? 0.8 : 0.7);
    }
    return w;
}
