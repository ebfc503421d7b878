/* SPDX-License-Identifier: MIT
 *
 * test_client_energy_window: how long libgreentrack's energy windows last
 * for a given cost of closing one (energy_window_ms, energy.c). Closing a
 * window reads every GPU's energy counter, which costs 3.4-3.9 ms of CPU
 * per GPU on an H100 VM; the window stretches so closing stays at most
 * 0.05 % of one core.
 */
#include "internal.h"
#include "test.h"

int main(void)
{
    CHECK_EQ_INT(energy_window_ms(0), 10000);       /* no GPU, fake trees */
    CHECK_EQ_INT(energy_window_ms(-5), 10000);      /* a clock that stepped */
    CHECK_EQ_INT(energy_window_ms(3400), 10000);    /* 1 GPU: 0.034 % at 10 s */
    CHECK_EQ_INT(energy_window_ms(5000), 10000);    /* exactly 0.05 % */
    CHECK_EQ_INT(energy_window_ms(6000), 12000);    /* 2 slow GPUs */
    CHECK_EQ_INT(energy_window_ms(27200), 54400);   /* 8 GPUs x 3.4 ms */
    CHECK_EQ_INT(energy_window_ms(1000000), 60000); /* capped at 60 s */
    /* at most 0.05 % of a core whenever the cap is not reached */
    for (int64_t us = 0; us <= 30000; us += 700)
        CHECK(us * 100.0 / (energy_window_ms(us) * 1000.0) <= 0.05 + 1e-12);
    TEST_MAIN_END("test_client_energy_window");
}
