{# bioevo's Network: Brian2's schedule (the clocks with the smallest time are due; their objects run in
   order, then those clocks tick) with the per-step bookkeeping made cheap.  Brian2's own template
   reads the process CPU clock (std::clock, a system call) after every time step and keeps the due
   clocks in a std::set; here the wall clock is read once before and once after the run (every step
   only with a report function or a maximum run time) and the due clocks are a flag per clock. #}
{% macro cpp_file() %}

#include "network.h"
#include <chrono>
#include <cmath>
#include <utility>

#define Clock_epsilon 1e-14

double Network::_last_run_time = 0.0;
double Network::_last_run_completed_fraction = 0.0;
bool Network::_globally_stopped = false;
bool Network::_globally_running = false;

static double _wall_seconds()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Network::Network()
{
    t = 0.0;
}

void Network::clear()
{
    objects.clear();
}

void Network::add(Clock* clock, codeobj_func func)
{
    objects.push_back(std::make_pair(clock, func));
}

void Network::run(const double duration, void (*report_func)(const double, const double, const double, const double), const double report_period)
{
    const double t_start = t;
    const double t_end = t + duration;
    double next_report_time = report_period;
    compute_clocks();
    for(size_t c=0; c<clocks.size(); c++)
        clocks[c]->set_interval(t, t_end);

    const double start = _wall_seconds();
    if (report_func)
        report_func(0.0, 0.0, t_start, duration);

    Clock* clock = next_clocks();
    double elapsed_realtime = 0.0;
    bool did_break_early = false;

    Network::_globally_running = true;
    Network::_globally_stopped = false;
    while(clock && clock->running() && !Network::_globally_stopped)
    {
        t = clock->t[0];
        for(size_t i=0; i<objects.size(); i++)
        {
            if (due[object_clock[i]])
            {
                codeobj_func func = objects[i].second;
                if (func)  // code objects can be NULL in cases where we store just the clock
                    func();
            }
        }
        for(size_t c=0; c<clocks.size(); c++)
            if (due[c])
                clocks[c]->tick();
        clock = next_clocks();
        if (report_func)
        {
            const double elapsed = _wall_seconds() - start;
            if (elapsed > next_report_time)
            {
                report_func(elapsed, (clock->t[0]-t_start)/duration, t_start, duration);
                next_report_time += report_period;
            }
        }
        {% if maximum_run_time is not none %}
        if(_wall_seconds() - start > {{maximum_run_time}})
        {
            did_break_early = true;
            break;
        }
        {% endif %}
    }
    Network::_globally_running = false;
    elapsed_realtime = _wall_seconds() - start;

    if(!did_break_early && !Network::_globally_stopped)
        t = t_end;
    else
        t = clock->t[0];

    _last_run_time = elapsed_realtime;
    if(duration>0)
        _last_run_completed_fraction = (t-t_start)/duration;
    else
        _last_run_completed_fraction = 1.0;
    if (report_func)
        report_func(elapsed_realtime, _last_run_completed_fraction, t_start, duration);
}

void Network::compute_clocks()
{
    clocks.clear();
    object_clock.clear();
    for(size_t i=0; i<objects.size(); i++)
    {
        Clock *clock = objects[i].first;
        size_t c = 0;
        while (c < clocks.size() && clocks[c] != clock)
            c++;
        if (c == clocks.size())
            clocks.push_back(clock);
        object_clock.push_back(c);
    }
    due.assign(clocks.size(), 0);
}

Clock* Network::next_clocks()
{
    if (clocks.empty())
        return NULL;
    // the clock with the smallest time, and every clock at that time (within Clock_epsilon) is due
    Clock *minclock = clocks[0];
    for(size_t c=1; c<clocks.size(); c++)
        if(clocks[c]->t[0] < minclock->t[0])
            minclock = clocks[c];
    const double t_min = minclock->t[0];
    for(size_t c=0; c<clocks.size(); c++)
    {
        const double s = clocks[c]->t[0];
        due[c] = (s==t_min || fabs(s-t_min)<=Clock_epsilon);
    }
    return minclock;
}

{% endmacro %}

{% macro h_file() %}

#ifndef _BRIAN_NETWORK_H
#define _BRIAN_NETWORK_H

#include<vector>
#include<utility>
#include "brianlib/clocks.h"

typedef void (*codeobj_func)();

class Network
{
    std::vector<Clock*> clocks;
    std::vector<size_t> object_clock;  // index into clocks, per object
    std::vector<char> due;  // per clock: runs in the current time step
    void compute_clocks();
    Clock* next_clocks();
public:
    std::vector< std::pair< Clock*, codeobj_func > > objects;
    double t;
    static double _last_run_time;
    static double _last_run_completed_fraction;
    static bool _globally_stopped;
    static bool _globally_running;

    Network();
    void clear();
    void add(Clock *clock, codeobj_func func);
    void run(const double duration, void (*report_func)(const double, const double, const double, const double), const double report_period);
};

#endif

{% endmacro %}
