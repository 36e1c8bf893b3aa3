# Install and package. `cmake --install build` puts, under the GNU directories of the prefix:
#   bin/smxgb                                   the binary (its data files, containers.json,
#                                               rules.json and xgboost_image_uris.json, are
#                                               compiled in by cmake/embed.cmake: none to install)
#   libexec/smxgb/                              helper programs smxgb runs (see below)
#   share/man/man1/smxgb.1.gz, smxgb-VERB.1.gz  generated from the binary's own option tables
#   share/bash-completion/completions/smxgb     generated likewise
#   share/zsh/vendor-completions/_smxgb         (prefix /usr) or share/zsh/site-functions/_smxgb
#   share/doc/smxgb/copyright, changelog.gz
# and `cpack -G DEB` (in the build directory) builds smxgb_VERSION_ARCH.deb for Debian 12.
include(GNUInstallDirs)

option(SMXGB_DOCS "Generate the man pages and shell completion by running the built binary" ON)

install(TARGETS smxgb RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Helper programs the binary starts (not on PATH) go to ${SMXGB_LIBEXECDIR}, one line each:
set(SMXGB_LIBEXECDIR ${CMAKE_INSTALL_LIBEXECDIR}/smxgb)
install(TARGETS smxgb-xgb-child RUNTIME DESTINATION ${SMXGB_LIBEXECDIR})

if(SMXGB_DOCS)
  # `smxgb help --man [VERB]` and `smxgb help --completion SHELL`, re-run whenever the binary
  # changes, so the pages and completion never drift from --help
  set(SMXGB_DOCS_DIR ${PROJECT_BINARY_DIR}/docs)
  add_custom_command(
    OUTPUT ${SMXGB_DOCS_DIR}/stamp
    COMMAND ${CMAKE_COMMAND} -DSMXGB=$<TARGET_FILE:smxgb> -DOUT=${SMXGB_DOCS_DIR}
            -P ${PROJECT_SOURCE_DIR}/cmake/gendocs.cmake
    COMMAND ${CMAKE_COMMAND} -E touch ${SMXGB_DOCS_DIR}/stamp
    DEPENDS smxgb ${PROJECT_SOURCE_DIR}/cmake/gendocs.cmake
    COMMENT "Generating man pages and shell completion from smxgb")
  add_custom_target(smxgb_docs ALL DEPENDS ${SMXGB_DOCS_DIR}/stamp)
  install(DIRECTORY ${SMXGB_DOCS_DIR}/man1 DESTINATION ${CMAKE_INSTALL_MANDIR}
          FILES_MATCHING PATTERN "*.1.gz")
  install(FILES ${SMXGB_DOCS_DIR}/completion/smxgb
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
  # zsh (Debian's fpath) reads packages' completion from /usr/share/zsh/vendor-completions and
  # a local install's from /usr/local/share/zsh/site-functions: decided at install time, when
  # the prefix is known (cpack installs with prefix /usr; file(INSTALL) adds DESTDIR itself)
  install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(smxgb_zsh_dir vendor-completions)
    else()
      set(smxgb_zsh_dir site-functions)
    endif()
    file(INSTALL \"${SMXGB_DOCS_DIR}/completion/_smxgb\" DESTINATION
         \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/\${smxgb_zsh_dir}\")")
endif()

# Debian's copyright and changelog files (lintian requires both in a package). The changelog
# entry's date is SOURCE_DATE_EPOCH when set (reproducible builds), else the configure time.
string(TIMESTAMP SMXGB_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(SMXGB_DEB_MAINTAINER "smxgb maintainers <maintainers@users.noreply.b-seed-0793d3c8.example>"
    CACHE STRING "Maintainer field of the .deb and its changelog")
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in
               ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9nf -k ${PROJECT_BINARY_DIR}/packaging/changelog
  DEPENDS ${PROJECT_BINARY_DIR}/packaging/changelog
  COMMENT "Compressing the Debian changelog")
add_custom_target(smxgb_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright
              ${PROJECT_BINARY_DIR}/packaging/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- the .deb ----------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smxgb)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "catch broken SageMaker XGBoost model artifacts before deployment")
set(CPACK_PACKAGE_DESCRIPTION
    "smxgb reads a model.tar.gz the way SageMaker and each sagemaker-xgboost
container version read it and reports, in seconds and without Docker, what
would break the endpoint: models in sub-folders, stray files loaded as models,
files saved by an XGBoost the container cannot read. It also serves an
artifact as the container would, health-checks it, and checks every SageMaker
model of a Terraform plan before it is applied.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # smxgb_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SMXGB_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                                GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# The libraries smxgb links (dpkg-shlibdeps finds their packages and versions when it is
# installed, as on Debian; else the Debian 12 names), and Debian's XGBoost 1.7.4 runtime,
# which smxgb loads with dlopen for real load checks, training and convert, so no tool sees it.
set(SMXGB_DEB_XGBOOST "libxgboost0 (>= 1.7.4)")
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${SMXGB_DEB_XGBOOST}")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "${SMXGB_DEB_XGBOOST}, libarchive13, zlib1g, libcurl4, libmicrohttpd12, libjansson4, libprotobuf-c1, libssl3, libc6")
endif()
# https:// and s3:// downloads verify TLS certificates
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
include(CPack)

# ---- tests: the package, the docs, the CI integrations (tests/ship/test_*.sh) --------------
if(SMXGB_TESTS AND NOT SMXGB_FUZZ)
  file(GLOB ship_tests CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/ship/test_*.sh)
  foreach(script ${ship_tests})
    get_filename_component(name ${script} NAME_WE)
    string(REGEX REPLACE "^test_" "ship_" name ${name})
    add_test(NAME ${name} COMMAND bash ${script})
    set_tests_properties(
      ${name}
      PROPERTIES ENVIRONMENT
                 "SMXGB_SRC=${PROJECT_SOURCE_DIR};SMXGB_BUILD=${PROJECT_BINARY_DIR};SMXGB_BIN=$<TARGET_FILE:smxgb>"
                 SKIP_RETURN_CODE 77 TIMEOUT 120)
  endforeach()
endif()
