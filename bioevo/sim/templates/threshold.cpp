{# bioevo's thresholder, for groups without refractoriness: the condition of every neuron first
   (a loop the compiler vectorises), then the spike list from those flags without a branch: with
   AVX-512, 16 neurons at a time (their indices compressed by the flags), else one at a time (every
   index is written at the end of the list, which grows where the flag is set).  Brian2's own loop
   branches on every neuron, and as spikes are rare and irregular, the branch is mispredicted at
   about every spike.  The list is the same, in the same order.  Groups with refractoriness keep
   Brian2's loop. #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block extra_headers %}
#include <vector>
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#define BIOEVO_AVX512_COMPRESS 1
#endif
{% endblock %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}

    long _count = 0;
    {% if _uses_refractory %}
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        if(_cond) {
            {{_eventspace}}[_count++] = _idx;
            {{not_refractory}}[_idx] = false;
            {{lastspike}}[_idx] = {{t}};
        }
    }
    {% else %}
    static std::vector<char> _flag_bytes;  // one flag per neuron: 1 where it spikes
    _flag_bytes.resize(N);
    char* __restrict _flags = &_flag_bytes[0];
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        _flags[_idx] = _cond;
    }
    int32_t* __restrict _spikes = {{_eventspace}};
    size_t _first = 0;
    #ifdef BIOEVO_AVX512_COMPRESS
    // 16 indices stored at the end of the list, the spiking ones first; the list (N + 1 entries)
    // never holds more entries than neurons before the block, so the store stays inside it
    const __m512i _lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for(; _first + 16 <= (size_t)N; _first += 16)
    {
        const __m128i _block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(_flags + _first));
        const __mmask16 _spiking = _mm_test_epi8_mask(_block, _block);
        const __m512i _indices = _mm512_add_epi32(_mm512_set1_epi32((int)_first), _lanes);
        _mm512_storeu_si512(reinterpret_cast<void*>(_spikes + _count), _mm512_maskz_compress_epi32(_spiking, _indices));
        _count += __builtin_popcount((unsigned)_spiking);
    }
    #endif
    for(size_t _idx=_first; _idx<(size_t)N; _idx++)
    {
        _spikes[_count] = _idx;
        _count += _flags[_idx];
    }
    {% endif %}
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // Note that this is not an off-by-1-error: the array has N+1 elements
{% endblock %}
