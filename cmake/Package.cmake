# Installation layout and the Debian package (cpack -G DEB, or
# `cmake --build build --target package`): freshet_VERSION_ARCH.deb with the
# binary, a man page and bash completion generated from `freshet --help`
# (deploy/package/cli-docs.sh), README, license, the systemd units and the
# example configs. Depends are computed by dpkg-shlibdeps from the binary.
include(GNUInstallDirs)

set(docs_dir ${CMAKE_BINARY_DIR}/docs)
set(cli_docs ${PROJECT_SOURCE_DIR}/deploy/package/cli-docs.sh)
find_program(HELP2MAN help2man)
if(HELP2MAN)
  add_custom_command(
    OUTPUT ${docs_dir}/freshet.1.gz ${docs_dir}/freshet.bash
    COMMAND ${CMAKE_COMMAND} -E make_directory ${docs_dir}
    COMMAND ${cli_docs} man $<TARGET_FILE:freshet> ${docs_dir}/freshet.1
    COMMAND gzip -9nf ${docs_dir}/freshet.1
    COMMAND ${cli_docs} completion $<TARGET_FILE:freshet> ${docs_dir}/freshet.bash
    DEPENDS freshet ${cli_docs}
    COMMENT "man page and bash completion from freshet --help")
  add_custom_target(freshet_docs ALL DEPENDS ${docs_dir}/freshet.1.gz ${docs_dir}/freshet.bash)
  install(FILES ${docs_dir}/freshet.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${docs_dir}/freshet.bash DESTINATION share/bash-completion/completions
          RENAME freshet)
else()
  message(WARNING "help2man not found (deploy/install-deps.sh installs it): the package will "
                  "have no man page and no bash completion")
endif()

install(TARGETS freshet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
file(GLOB systemd_units ${PROJECT_SOURCE_DIR}/deploy/systemd/*.service
     ${PROJECT_SOURCE_DIR}/deploy/systemd/*.timer)
install(FILES ${systemd_units} DESTINATION lib/systemd/system)
install(DIRECTORY deploy/systemd deploy/k8s deploy/github DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        OPTIONAL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME freshet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "freshet maintainers <freshet@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "refresh development PostgreSQL databases from production, fast and safely")
set(CPACK_PACKAGE_DESCRIPTION
    "freshet copies a production PostgreSQL database into development, staging and preview\n\
databases (parallel binary COPY in one snapshot, foreign-key order, incremental sync),\n\
captures zstd snapshots to restore into many targets, and lints and applies schema\n\
migrations with Supabase- and Prisma-compatible history.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # freshet_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# `migrate shadow` without --shadow-url starts a throwaway cluster with initdb.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-15")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_FILE_NAME "freshet_${PROJECT_VERSION}")
include(CPack)
