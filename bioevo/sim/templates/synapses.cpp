{# bioevo's on_pre code for synaptic pathways WITHOUT delays (bioevo.sim.device gives this template
   only to those): every spike of this step, taken straight from the source's spike list, reaches
   its synapses in the order Brian2's spike queue would deliver them (source spikes in order, each
   spike's synapses by increasing index), so every sum is the same, bit for bit.

   The synapses of one source neuron are stored as runs: consecutive synapse indices whose targets
   are consecutive neurons (all-to-all blocks of a population are one run per individual).  Inside a
   run the target index is the run's first target plus the position, which the compiler can see, so
   the generated statements vectorise; Brian2's own loop reads each target index from memory.
   bioevo.sim.device.contiguous_indices rewrites the generated code's two index reads for that.

   Spikes of source neurons whose runs reach the same targets (every input unit of a population;
   the neurons of one individual) are delivered as a group where the statements only read, update
   and write back target variables (bioevo.sim.device.grouped_delivery): target by target, a tile
   of targets held in registers while each spike of the group adds to them in the list's order.
   Brian2 reads and writes a target's variable once per spike; with dense input (SHD: about 60
   input counts per step) that traffic was most of the work.  Every target still sees the same
   additions in the same order.

   Runs and groups are built before the run (a served network builds them once, not in every copy). #}
{# USES_VARIABLES { _synaptic_pre, _synaptic_post, _spikespace } #}
{% extends 'common_synapses.cpp' %}
{% block extra_headers %}
#include "brianlib/stdint_compat.h"
#include "synapses_classes.h"
#include <vector>
// -ffast-math lets the compiler reorder a sum; a group's spikes must reach each target in order
// (a vectorised reduction over the group would change the last bits of the sums)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-associative-math")
#endif
// an empty volatile statement: the compiler keeps the loop around it scalar (and nothing else)
#if defined(__GNUC__) || defined(__clang__)
#define BIOEVO_NOT_VECTORISED() __asm__ __volatile__("")
#else
#define BIOEVO_NOT_VECTORISED()
#endif
#include <algorithm>
#include <map>
namespace {
    // runs of source neuron i: _neuron_runs[i] .. _neuron_runs[i+1]-1
    std::vector<int32_t> _neuron_runs, _run_first_synapse, _run_first_target, _run_length;
    // neurons with the same signature have runs of the same targets, none overlapping another
    // (-1: deliver the neuron's spikes on their own)
    std::vector<int32_t> _neuron_signature;
    std::vector<int32_t> _group_first_synapses;  // per member of the group being delivered
    size_t _runs_for_synapses = (size_t)-1;  // the number of synapses they were built for
}
void _bioevo_prepare_{{codeobj_name}}(size_t _n_sources);
{% endblock %}

{% block before_code %}
    extern void _bioevo_prepare_{{codeobj_name}}(size_t _n_sources);
    _bioevo_prepare_{{codeobj_name}}(_num_spikespace - 1);
{% endblock %}

{% block maincode %}
    {# the synapses of one spike of _source_neuron, run by run (a group of one, or no grouping) #}
    {% macro _runs_of_one_spike() %}
for (int32_t _run = _neuron_runs[_source_neuron]; _run < _neuron_runs[_source_neuron + 1]; _run++)
{
    const int32_t _first_synapse = _run_first_synapse[_run];
    const int32_t _first_target = _run_first_target[_run];
    const int32_t _length = _run_length[_run];
    for (int32_t _position = 0; _position < _length; _position++)
    {
        const size_t _idx = _first_synapse + _position;
        const size_t _vectorisation_idx = _idx;
        {{ contiguous_indices(vector_code, _synaptic_post, _synaptic_pre) | join("\n") | indent(8) }}
    }
}
    {% endmacro %}
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const size_t _n_sources = _num_spikespace - 1;
    if (_runs_for_synapses != {{_dynamic__synaptic_pre}}.size())  // synapses changed since before the run
        _bioevo_prepare_{{codeobj_name}}(_n_sources);
    const int32_t* _spikes = {{_spikespace}};
    const int32_t _n_spikes = _spikes[_n_sources];
    {% set _grouped = grouped_delivery(vector_code, _synaptic_post, _synaptic_pre) %}
    {% if _grouped %}
    {
    #if defined(__clang__)
    #pragma clang fp reassociate(off)
    #endif
    int32_t _group_start = 0;
    while (_group_start < _n_spikes)
    {
        const int32_t _lead = _spikes[_group_start];
        const int32_t _signature = _neuron_signature[_lead];
        int32_t _group_end = _group_start + 1;
        if (_signature >= 0)
            while (_group_end < _n_spikes && _neuron_signature[_spikes[_group_end]] == _signature)
                _group_end++;
        const int32_t _lead_runs = _neuron_runs[_lead];
        const int32_t _n_runs = _neuron_runs[_lead + 1] - _lead_runs;
        const int32_t _group_size = _group_end - _group_start;
        if (_group_size == 1)  // alone: the plain runs (no tiles to fill)
        {
            const int32_t _source_neuron = _lead;
            {{ _runs_of_one_spike() | autoindent }}
            _group_start = _group_end;
            continue;
        }
        const int32_t* _group_neurons = _spikes + _group_start;
        if ((int32_t)_group_first_synapses.size() < _group_size)  // grows only: no refill per group
            _group_first_synapses.resize(_group_size);
        int32_t* const _group_first = &_group_first_synapses[0];
        for (int32_t _run_index = 0; _run_index < _n_runs; _run_index++)
        {
            const int32_t _first_target = _run_first_target[_lead_runs + _run_index];
            const int32_t _length = _run_length[_lead_runs + _run_index];
            for (int32_t _member = 0; _member < _group_size; _member++)  // the group's synapses of this run
                _group_first[_member] = _run_first_synapse[_neuron_runs[_group_neurons[_member]] + _run_index];
            int32_t _position = 0;
            {% for _tile in _grouped.tiles %}
            for (; _position + {{_tile.width}} <= _length; _position += {{_tile.width}})
            {
                {{ _tile.code | autoindent }}
            }
            {% endfor %}
            for (; _position < _length; _position++)
            {
                {{ _grouped.tail | autoindent }}
            }
        }
        _group_start = _group_end;
    }
    }
    {% else %}
    for (int32_t _spike = 0; _spike < _n_spikes; _spike++)
    {
        const int32_t _source_neuron = _spikes[_spike];
        {{ _runs_of_one_spike() | autoindent }}
    }
    {% endif %}
{% endblock %}

{% block extra_functions_cpp %}
void _bioevo_prepare_{{codeobj_name}}(size_t _n_sources)
{
    // the synapses of each source neuron by increasing index (the order of Brian2's spike queue),
    // cut into runs of consecutive synapse indices with consecutive targets
    const std::vector<int32_t>& _pre = brian::{{_dynamic__synaptic_pre}};
    const std::vector<int32_t>& _post = brian::{{_dynamic__synaptic_post}};
    const size_t _n_synapses = _pre.size();
    std::vector<int32_t> _start(_n_sources + 1, 0), _order(_n_synapses);
    for (size_t _s = 0; _s < _n_synapses; _s++)
        _start[_pre[_s] + 1]++;
    for (size_t _i = 0; _i < _n_sources; _i++)
        _start[_i + 1] += _start[_i];
    std::vector<int32_t> _fill(_start.begin(), _start.end() - 1);
    for (size_t _s = 0; _s < _n_synapses; _s++)
        _order[_fill[_pre[_s]]++] = _s;
    _neuron_runs.assign(1, 0);
    _run_first_synapse.clear(); _run_first_target.clear(); _run_length.clear();
    for (size_t _i = 0; _i < _n_sources; _i++)
    {
        for (int32_t _k = _start[_i]; _k < _start[_i + 1]; _k++)
        {
            const int32_t _s = _order[_k];
            const size_t _last = _run_length.size();
            if (_last > (size_t)_neuron_runs.back()
                && _run_first_synapse[_last - 1] + _run_length[_last - 1] == _s
                && _run_first_target[_last - 1] + _run_length[_last - 1] == _post[_s])
                _run_length[_last - 1]++;
            else
            {
                _run_first_synapse.push_back(_s);
                _run_first_target.push_back(_post[_s]);
                _run_length.push_back(1);
            }
        }
        _neuron_runs.push_back(_run_length.size());
    }
    // signatures: the list of (first target, length) of a neuron's runs, if they do not overlap
    std::map<std::vector<int32_t>, int32_t> _signatures;
    _neuron_signature.assign(_n_sources, -1);
    for (size_t _i = 0; _i < _n_sources; _i++)
    {
        std::vector<int32_t> _key;
        std::vector<std::pair<int32_t, int32_t> > _ranges;
        for (int32_t _run = _neuron_runs[_i]; _run < _neuron_runs[_i + 1]; _run++)
        {
            _key.push_back(_run_first_target[_run]);
            _key.push_back(_run_length[_run]);
            _ranges.push_back(std::make_pair(_run_first_target[_run], _run_first_target[_run] + _run_length[_run]));
        }
        std::sort(_ranges.begin(), _ranges.end());
        bool _disjoint = !_ranges.empty();
        for (size_t _k = 1; _k < _ranges.size(); _k++)
            _disjoint = _disjoint && _ranges[_k].first >= _ranges[_k - 1].second;
        if (_disjoint)
        {
            std::map<std::vector<int32_t>, int32_t>::iterator _found = _signatures.find(_key);
            if (_found == _signatures.end())
                _found = _signatures.insert(std::make_pair(_key, (int32_t)_signatures.size())).first;
            _neuron_signature[_i] = _found->second;
        }
    }
    _runs_for_synapses = _n_synapses;
}
{% endblock %}
