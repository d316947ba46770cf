{# bioevo's main.cpp: Brian2's, plus a serving mode for evaluating one population after another
   without starting a new process each time.

   `main --results_dir DIR` runs once, as Brian2's own main does.  `main --results_dir DIR --serve`
   initialises the network once (arrays, synapses, delivery runs: everything before the run
   arguments are applied), then reads one request per line on stdin, the run arguments as the
   command line takes them (NAME=FILE ...).  The server applies them, then a forked copy of it runs
   the network, writes the results bioevo reads (the code inserted in the "before_end" slot,
   bioevo.sim.device.results_writer) and exits; errors go to results_dir/stderr.txt; the server
   answers on stdout with one line: the copy's exit status, its CPU seconds and its wall seconds.  A fork of an initialised process costs far less
   than a new one (no loading, no allocating, no building of synapses), and every run starts from
   the same initial state, as a new process would. #}
#include <stdlib.h>
#include "objects.h"
#include <csignal>
#include <ctime>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <chrono>
#include <cstdio>
#include <sstream>
{{ openmp_pragma('include') }}
#include "run.h"
#include "brianlib/common_math.h"

{% for codeobj in code_objects | sort(attribute='name') %}
#include "code_objects/{{codeobj.name}}.h"
{% for block in codeobj.before_after_blocks %}
#include "code_objects/{{block}}_{{codeobj.name}}.h"
{% endfor %}
{% endfor %}

{% for name in user_headers | sort %}
#include {{name}}
{% endfor %}

#include <iostream>
#include <fstream>
#include <string>

{{report_func|autoindent}}

bool bioevo_serving = false;  // true in the forked copies of a server (read by the results writer)

void set_from_command_line(const std::vector<std::string> args)
{
    for (const auto& arg : args) {
		// Split into two parts
		size_t equal_sign = arg.find("=");
		auto name = arg.substr(0, equal_sign);
		auto value = arg.substr(equal_sign + 1, arg.length());
		brian::set_variable_by_name(name, value);
	}
}

void _int_handler(int signal_num) {
	if (Network::_globally_running && !Network::_globally_stopped) {
		Network::_globally_stopped = true;
	} else {
		std::signal(signal_num, SIG_DFL);
		std::raise(signal_num);
	}
}

{% set _init_lines, _run_lines = split_at_run_args(main_lines) %}
int main(int argc, char **argv)
{
	{% if prefs.core.stop_on_keyboard_interrupt %}
	const auto _sigint_at_start = std::signal(SIGINT, _int_handler);
	{% else %}
	const auto _sigint_at_start = std::signal(SIGINT, SIG_DFL);
	std::signal(SIGINT, _sigint_at_start);
	{% endif %}
	std::random_device _rd;
	std::vector<std::string> args(argv + 1, argv + argc);
	if (args.size() >=2 && args[0] == "--results_dir")
	{
		brian::results_dir = args[1];
		args.erase(args.begin(), args.begin()+2);
	}
	bool serve = false;
	if (args.size() >= 1 && args[0] == "--serve")
	{
		serve = true;
		args.erase(args.begin());
	}
    {{'\n'.join(code_lines['before_start'])|autoindent}}
	brian_start();
    {{'\n'.join(code_lines['after_start'])|autoindent}}
	{
		using namespace brian;

		{{ openmp_pragma('set_num_threads') }}
        {{_init_lines|autoindent}}
		if (serve)
		{
			{% if _run_lines %}
			// Ctrl-C ends the server and its copy (the evaluation is abandoned with the Python process),
			// instead of Brian2's early stop of the run; an ignored SIGINT stays ignored
			std::signal(SIGINT, _sigint_at_start == SIG_IGN ? SIG_IGN : SIG_DFL);
			std::string request;
			while (std::getline(std::cin, request))
			{
				// errors of this request (Brian2 reports a bad argument file only on stderr) go to a file
				const std::string errors = results_dir + "stderr.txt";
				if (!std::freopen(errors.c_str(), "w", stderr))
				{
					std::cout << 3 << " 0 0" << std::endl;
					continue;
				}
				std::istringstream words(request);
				args.clear();
				for (std::string word; words >> word; )
					args.push_back(word);
				const auto started = std::chrono::steady_clock::now();
				// The arguments are applied here, before the copy: the copy reads them without copying
				// their pages (its writes to the input raster would copy every page of it).  Every
				// request sets every argument, so nothing of an earlier request stays.
				set_from_command_line(args);
				std::fflush(stderr);
				std::fflush(stdout);
				std::cout.flush();
				const pid_t child = fork();
				if (child == 0)
				{
					// the copy: the run and the results
					bioevo_serving = true;
                    {{_run_lines[1:]|autoindent}}
                    {{'\n'.join(code_lines['before_end'])|autoindent}}
					std::fflush(stderr);
					_exit(0);
				}
				int status = 0;
				struct rusage usage = {};
				if (child < 0 || wait4(child, &status, 0, &usage) < 0)
					status = -1;
				const int code = child < 0 ? 4 : (WIFEXITED(status) ? WEXITSTATUS(status)
				                                  : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 5));
				const double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
				                   + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
				const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
				std::cout << code << " " << cpu << " " << wall << std::endl;
			}
			return 0;
			{% else %}
			std::cerr << "this network takes no run arguments: it cannot serve" << std::endl;
			return 2;
			{% endif %}
		}
        {{_run_lines|autoindent}}
	}
    {{'\n'.join(code_lines['before_end'])|autoindent}}
	brian_end();
    {{'\n'.join(code_lines['after_end'])|autoindent}}
	return 0;
}
