# po/po.cmake: the web app's catalogues (gettext text domain "aidmesh-web", node/i18n.h).
# Each po/LANG.po is compiled with msgfmt --check into BUILD/locale/LANG/LC_MESSAGES/
# aidmesh-web.mo, where a program run from the build tree finds it; `make install` and
# tools/install.sh put it under PREFIX/share/locale (CMAKE_INSTALL_LOCALEDIR). The msgids
# node/i18n.c reads at start are generated from po/aidmesh-web.pot (po/msgids.sh).
# `sh po/update.sh` (or the build's po-update target) extracts the sentences again and merges
# them into the .po files.
find_program(AM_MSGFMT msgfmt)
find_program(AM_MSGEXEC msgexec)
if(NOT AM_MSGFMT OR NOT AM_MSGEXEC)
  message(FATAL_ERROR "gettext's msgfmt and msgexec not found: install gettext "
                      "(make deps does, or apt-get install gettext)")
endif()
include(GNUInstallDirs)

set(AM_PO_LANGS en fr es ar)
set(AM_BUILD_LOCALEDIR ${CMAKE_BINARY_DIR}/locale)
set(am_mos "")
foreach(lang ${AM_PO_LANGS})
  set(mo ${AM_BUILD_LOCALEDIR}/${lang}/LC_MESSAGES/aidmesh-web.mo)
  add_custom_command(OUTPUT ${mo}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${AM_BUILD_LOCALEDIR}/${lang}/LC_MESSAGES
    COMMAND ${AM_MSGFMT} --check -o ${mo} ${CMAKE_SOURCE_DIR}/po/${lang}.po
    DEPENDS ${CMAKE_SOURCE_DIR}/po/${lang}.po
    COMMENT "msgfmt po/${lang}.po" VERBATIM)
  list(APPEND am_mos ${mo})
  install(FILES ${mo} DESTINATION ${CMAKE_INSTALL_LOCALEDIR}/${lang}/LC_MESSAGES)
endforeach()
add_custom_target(am_catalogues ALL DEPENDS ${am_mos})

set(AM_MSGIDS_C ${CMAKE_BINARY_DIR}/i18n_msgids.c)
add_custom_command(OUTPUT ${AM_MSGIDS_C}
  COMMAND sh ${CMAKE_SOURCE_DIR}/po/msgids.sh ${AM_MSGEXEC}
          ${CMAKE_SOURCE_DIR}/po/aidmesh-web.pot ${AM_MSGIDS_C}
  DEPENDS ${CMAKE_SOURCE_DIR}/po/aidmesh-web.pot ${CMAKE_SOURCE_DIR}/po/msgids.sh
  COMMENT "msgids of po/aidmesh-web.pot" VERBATIM)
target_sources(amnode PRIVATE ${AM_MSGIDS_C})
add_dependencies(amnode am_catalogues)
set_property(SOURCE ${CMAKE_SOURCE_DIR}/node/i18n.c APPEND PROPERTY COMPILE_DEFINITIONS
  AM_BUILD_DIR="${CMAKE_BINARY_DIR}" AM_BUILD_LOCALEDIR="${AM_BUILD_LOCALEDIR}"
  AM_LOCALEDIR_REL="${CMAKE_INSTALL_LOCALEDIR}" AM_LOCALEDIR="${CMAKE_INSTALL_FULL_LOCALEDIR}")

add_custom_target(po-update COMMAND sh ${CMAKE_SOURCE_DIR}/po/update.sh
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} VERBATIM)
