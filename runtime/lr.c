/* lr.c — learning-rate and loss-weight schedules as pure functions.
 *
 * A schedule is a value of t, the step or epoch count the caller counts in
 * (fractional epochs are fine), and its settings; nothing is stateful, so
 * resuming a run needs only t. The shapes follow torch.optim.lr_scheduler's
 * closed forms:
 *   constant  base
 *   step      base * gamma^floor(t / step_size)                  (StepLR)
 *   cosine    eta_min + (base - eta_min) (1 + cos(pi t / T)) / 2  (CosineAnnealingLR)
 *   poly      base * (1 - t / T)^power                           (nnU-Net's PolyLR)
 * Deliberate simplifications: cosine holds eta_min for t >= T (torch's
 * closed form would climb back up), poly holds 0 for t >= T, and t < 0 is
 * treated as 0.
 *
 * Linear warm-up composes with any of them by multiplication, like torch's
 * ChainedScheduler over LinearLR: factor f + (1 - f) t / W for t < W, then
 * 1; the main schedule keeps counting from t = 0 during the warm-up.
 *
 * The CCT ramp (a loss weight, not a learning rate) is Laine & Aila's
 * sigmoid-shaped ramp-up: w_max * exp(-5 (1 - t/T)^2) until T, then w_max.
 */
#include "runtime/runtime.h"

#include <math.h>
#include <string.h>

void rt_sched_init(rt_sched *s, rt_sched_kind kind, double base)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->base = base;
    s->step_size = 1;
    s->gamma = 0.1;
    s->total = 1;
    s->eta_min = 0;
    s->power = 0.9;
    s->warmup = 0;
    s->warmup_factor = 1.0 / 3.0;
}

int rt_sched_check(const rt_sched *s, rt_error *err)
{
    const char *bad = NULL;
    if (s->kind == RT_SCHED_STEP && !(s->step_size > 0))
        bad = "step schedule needs step_size > 0";
    else if ((s->kind == RT_SCHED_COSINE || s->kind == RT_SCHED_POLY) && !(s->total > 0))
        bad = "cosine and poly schedules need a length T > 0";
    else if (s->kind == RT_SCHED_POLY && !(s->power >= 0))
        bad = "poly schedule needs power >= 0";
    else if (!(s->warmup >= 0))
        bad = "warm-up length must be >= 0";
    else if (s->warmup > 0 && !(s->warmup_factor >= 0 && s->warmup_factor <= 1))
        bad = "warm-up factor must be in [0, 1]";
    if (bad)
        rt_error_set(err, "schedule: %s", bad);
    return bad ? -1 : 0;
}

/* The schedule without warm-up; t >= 0. Bad settings (see rt_sched_check)
 * give the schedule's end value rather than a NaN. */
static double sched_main(const rt_sched *s, double t)
{
    switch (s->kind) {
    case RT_SCHED_CONSTANT:
        return s->base;
    case RT_SCHED_STEP:
        return s->step_size > 0 ? s->base * pow(s->gamma, floor(t / s->step_size)) : s->base;
    case RT_SCHED_COSINE:
        if (!(t < s->total))
            return s->eta_min;
        return s->eta_min + (s->base - s->eta_min) * (1 + cos(M_PI * t / s->total)) / 2;
    case RT_SCHED_POLY:
        if (!(t < s->total))
            return 0;
        return s->base * pow(1 - t / s->total, s->power);
    }
    SEG_UNREACHABLE();
}

static double warmup_factor(const rt_sched *s, double t)
{
    if (!(s->warmup > 0) || t >= s->warmup)
        return 1;
    return s->warmup_factor + (1 - s->warmup_factor) * t / s->warmup;
}

double rt_sched_value(const rt_sched *s, double t)
{
    if (t < 0)
        t = 0;
    return sched_main(s, t) * warmup_factor(s, t);
}

double rt_ramp_sigmoid(double w_max, double t, double T)
{
    if (!(T > 0) || t >= T)
        return w_max;
    if (t < 0)
        t = 0;
    double x = 1 - t / T;
    return w_max * exp(-5 * x * x);
}
