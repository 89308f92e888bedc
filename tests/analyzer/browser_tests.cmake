# browser_tests.cmake: CTest entries for the chrome and html report formats (include()d by tests/analyzer).
#   analyzer.browser_chrome   the trace-event JSON of browser_report.json: structure, tracks, errors, stacks
#   analyzer.browser_html     the HTML page in a real headless chromium: timelines, verdicts, script, screenshot
#   analyzer.browser_cli_*    the same checks on output of the real `rstwatch report` from browser_cli_*.jsonl
# Outputs (trace, page, screenshot browser_report.png) land in this build directory.
pkg_check_modules(RSW_BROWSER_JANSSON REQUIRED IMPORTED_TARGET jansson)

set(rsw_browser_dir ${CMAKE_CURRENT_LIST_DIR})
add_executable(browser_harness ${rsw_browser_dir}/browser_harness.c
  ${PROJECT_SOURCE_DIR}/analyzer/render_chrome.c ${PROJECT_SOURCE_DIR}/analyzer/render_html.c
  ${PROJECT_SOURCE_DIR}/analyzer/render_html_svg.c ${PROJECT_SOURCE_DIR}/analyzer/fmt.c)
target_include_directories(browser_harness PRIVATE ${PROJECT_SOURCE_DIR}/analyzer
  ${PROJECT_SOURCE_DIR}/common)
target_compile_definitions(browser_harness PRIVATE _GNU_SOURCE)
target_link_libraries(browser_harness PRIVATE PkgConfig::RSW_BROWSER_JANSSON)
set_target_properties(browser_harness PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})

set(rsw_browser_check ${Python3_EXECUTABLE} ${rsw_browser_dir}/browser_check.py)
foreach(fmt chrome html)
  add_test(NAME analyzer.browser_${fmt}
    COMMAND ${rsw_browser_check} ${fmt} --out-dir ${CMAKE_CURRENT_BINARY_DIR}
            --harness $<TARGET_FILE:browser_harness> --report ${rsw_browser_dir}/browser_report.json)
  # Through the real CLI: the client and server logs of one write-after-peer-close, plus a refusal.
  add_test(NAME analyzer.browser_cli_${fmt}
    COMMAND ${rsw_browser_check} ${fmt} --out-dir ${CMAKE_CURRENT_BINARY_DIR} --name browser_cli
            --cli $<TARGET_FILE:rstwatch> ${rsw_browser_dir}/browser_cli_client.jsonl
            ${rsw_browser_dir}/browser_cli_server.jsonl)
  set_tests_properties(analyzer.browser_${fmt} analyzer.browser_cli_${fmt} PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 240 LABELS "analyzer;browser")
endforeach()
# One chromium at a time: two would fight for the 2 cores and the same build-dir outputs.
set_tests_properties(analyzer.browser_html analyzer.browser_cli_html PROPERTIES RESOURCE_LOCK rsw_chromium)
