{# bioevo: synaptic pathways without delays deliver each step's spikes straight from the source's
   spike list (synapses.cpp of this folder), so nothing is queued: Brian2's spike queue would copy
   every synapse index of every spike twice (push, then peek) before the synapses code reads it. #}
{% extends 'common_group.cpp' %}

{% block maincode %}
    // spikes are read from the source's spike list by the synapses code object (no delays)
{% endblock %}
