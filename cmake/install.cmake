# Installing Strata: the headers, the library, the CLI, a CMake package (find_package(strata
# CONFIG) gives strata::strata) and strata.pc for pkg-config; and CPack's .deb of all of them.
include(CMakePackageConfigHelpers)

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/strata)

install(TARGETS strata EXPORT strataTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/strata ${generated_include}/strata
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(STRATA_BUILD_CLI)
  install(TARGETS strata_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT strataTargets NAMESPACE strata:: DESTINATION ${config_dir})
configure_package_config_file(cmake/strataConfig.cmake.in
  ${PROJECT_BINARY_DIR}/strataConfig.cmake INSTALL_DESTINATION ${config_dir})
# Below 1.0 every minor version may change the API: a request for 0.1 takes 0.1.x only.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compatibility SameMinorVersion)
else()
  set(compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/strataConfigVersion.cmake
  COMPATIBILITY ${compatibility})
install(FILES ${PROJECT_BINARY_DIR}/strataConfig.cmake
  ${PROJECT_BINARY_DIR}/strataConfigVersion.cmake DESTINATION ${config_dir})

# strata.pc finds its prefix from where it lies, so an unpacked tree works as well as /usr.
file(RELATIVE_PATH pc_prefix_from_pcfiledir
  /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" pc_prefix_from_pcfiledir "${pc_prefix_from_pcfiledir}")
if(BUILD_SHARED_LIBS)
  set(pc_private "")
else()
  # A static library's dependencies, which `pkg-config --static --libs strata` adds: the shared
  # libpq, SQLite and zlib (not libpq.pc's own private list, whose static libraries Debian lacks).
  set(pc_private "Libs.private: -lsqlite3 -lz")
  if(STRATA_WITH_POSTGRES)
    string(APPEND pc_private " -lpq")
  endif()
  string(APPEND pc_private " -pthread")
endif()
configure_file(cmake/strata.pc.in ${PROJECT_BINARY_DIR}/strata.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/strata.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME strata)
set(CPACK_PACKAGE_VENDOR "The Strata developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
  "The Strata library (headers, libstrata, a CMake package and strata.pc) and the strata command-line tool.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "The Strata developers <strata@invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# The shared libraries it links (libpq, SQLite, the C++ runtime), found by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
